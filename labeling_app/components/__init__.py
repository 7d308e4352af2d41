"""Components of the labeling app: text-only trace rendering, the activity heartbeat."""
