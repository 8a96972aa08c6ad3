"""Who is present: arrivals confirmed by the clerk or the face check, and ID-photo enrolment."""
