"""Plugin ``udp_tables``: tables (CSV, XLSX) into the DataStore with ckanext-xloader."""
