"""The hearing's record: the 笔录, the evidence and the mediation settlement."""
