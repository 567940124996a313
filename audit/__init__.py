"""The audit log (DESIGN §2, §6): who did what to which object, when, from where.

Every write of a service records one ``AuditEvent`` through ``audit.services.event_record``; who is
acting comes from ``audit.context`` (set by the web middleware, the doors and the commands).
"""
