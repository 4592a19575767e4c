"""Portal pages of the webhooks app: endpoint settings and the delivery log."""
