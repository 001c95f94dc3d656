"""Lead-capture agent data (issue 15): contact vocabulary, intents, industry knowledge packs, phrasing."""
