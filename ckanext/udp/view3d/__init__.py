"""The previews of the 3D climate twin (plugins ``udp_view3d`` and ``udp_grid``)."""
