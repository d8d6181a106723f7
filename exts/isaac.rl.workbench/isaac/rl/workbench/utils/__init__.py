"""Small helpers with no knowledge of the workbench: atomic file writes, quaternion math."""
