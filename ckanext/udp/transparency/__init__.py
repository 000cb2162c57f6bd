"""udp_transparency: push published open datasets to the city's Transparenzportal."""
