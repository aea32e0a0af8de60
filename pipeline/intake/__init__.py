"""Intake: takes a video file (or a camera frame), gives upright RGB frames at pose resolution with their real
timestamps, plus cheap image statistics (brightness, blur, camera motion)."""
