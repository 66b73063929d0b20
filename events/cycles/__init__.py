"""Action and reaction: which incidents answer which, and what the answers add up to.

suggestions the suggested links, computed by PostgreSQL, and the pairing measured against chance
review      the editor's review of the suggestions: accept one as a link, or reject it for good
analytics   the cycle analytics, a module per measure: how long deterrence held, how fast sides answer each
            other, what an incident was followed by, how a chain escalated, where attacks surged
sides       an incident spread over its sides or dyads in SQL, the one way every statement above writes it
"""
