"""The cost ledger: every amount the insurer pays, written with its source, never edited."""
