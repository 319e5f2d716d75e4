"""The client contract's policy for the services that keep client-owned records: following a client
through merges, undos and erasures, and looking a client up."""
