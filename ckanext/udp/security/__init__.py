"""udp_security: the portal's guards that are no one plugin's business."""
