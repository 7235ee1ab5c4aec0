"""Where the experts' labels come from and which answer each belongs to: importing files (importing.py), a
label's identity and the one reader of labels for a run's answers (identity.py), the review page's choices and
writes (review.py; the page itself is view/review.py)."""
