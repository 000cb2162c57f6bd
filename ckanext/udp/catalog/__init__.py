"""The public DCAT catalog: paged, stable, cached, conditional."""
