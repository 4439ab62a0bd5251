"""Fleet: transport operators, their trucks (heavy or not) and the insurer's policies on them; device eligibility."""
