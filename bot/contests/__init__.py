"""Online contests ("Công dân số thông minh"): rounds with a time limit, registration and questions by chat
on every channel, leaderboards, announcements through the outbox, exports (see docs/contests.md)."""
