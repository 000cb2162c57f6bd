"""udp_governance: publishing workflow with the four-eyes principle, access
classes, audit trail, pending edits of published datasets, steward queues."""
