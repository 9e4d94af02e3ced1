"""The lab's plumbing, below every lesson step: names and settings (config), the learner's choices, waiting for
AWS, the lab's tag (ownership), partitions, paths, text width and HTTP GETs. Nothing here imports a step."""
