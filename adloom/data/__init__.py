"""Data files people edit (phrase grammars, rule tables, profiles), loaded through adloom.core.datafiles."""
