"""Pose: takes RGB frames, gives 33 BlazePose landmarks per frame, cleaned (causal filter, gap fill, subject
persistence), stacked into tracks or spilled frame stores, and the quality checks that need the pose."""
