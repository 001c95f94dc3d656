"""Lead-capture agent data (issue 15): contact-detail vocabulary, intents, industry knowledge packs, answer and lead-agent phrasing."""
