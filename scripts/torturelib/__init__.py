"""The reliability suite behind scripts/torture: crash, I/O-fault, hostile-input and race
runs against the real `vaultsync` command. Each module returns figures (counts), and
the driver prints them and fails when one whose goal is zero is not."""
