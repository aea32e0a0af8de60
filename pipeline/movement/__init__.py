"""Movement: takes cleaned pose frames, gives the exercise (router), the reps (generic rep machine fed by one
exercise module) and the set's evidence: per-rep metrics, issues, variations and what could not be judged."""
