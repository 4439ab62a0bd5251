"""SIM cards: identity (ICCID, MSISDN, carrier), status and their link to devices over time."""
