"""Lead-capture agent data (issue 15): contact-detail vocabulary, knowledge packs, phrasing."""
