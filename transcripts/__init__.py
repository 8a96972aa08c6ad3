"""Speech recognition, role attribution, diarization and the 笔录 (see issues 5 and 7)."""
