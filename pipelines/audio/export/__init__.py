"""Export learned timbres for other tools: SFZ sampler instruments (``instrument``), loop search (``loops``)."""
