//! The analysis pipeline of the main job: capture in, report out.
