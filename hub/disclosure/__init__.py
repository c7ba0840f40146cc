"""Which records may leave the hub: the record rules of an exchange (:mod:`.rules`) and the
disclosure prohibitions of clients (:mod:`.prohibitions`), applied to every batch before its
disclosure is logged (:mod:`.screen`)."""
