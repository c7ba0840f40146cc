"""Tamper-evident access and disclosure logs (Act 703/2023): the hash chain over them
(:mod:`~hub.audit.chain`), sealed checkpoints (:mod:`~hub.audit.seal`), their verification
(:mod:`~hub.audit.verify`, ``hub audit verify``) and THL's action codes
(:mod:`~hub.audit.actions`)."""
