"""Lead-capture agent data: intent and signal words, answer phrase bank, industry knowledge packs."""
