"""The editors' desk: editors, their decisions, the review queue, feedback export and
publishing. The review web app (`copydesk.review`) calls it."""
