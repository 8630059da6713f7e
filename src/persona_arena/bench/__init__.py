"""`arena bench`: speed figures as ratios against raw baselines measured in the same process."""
