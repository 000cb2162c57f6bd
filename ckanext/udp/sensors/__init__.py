"""The ``udp_sensors`` plugin: LoRaWAN uplinks (MQTT and webhooks) into DataStore time series."""
