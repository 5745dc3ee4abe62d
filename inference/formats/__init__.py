"""Files in and out: NYU-format sequences, pose files (text, .mat, poses JSONL) and the recorder."""
