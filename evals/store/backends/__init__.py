"""Where a workspace's records and locks live: a local folder or an object store."""
