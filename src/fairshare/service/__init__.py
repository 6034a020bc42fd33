"""The shared service (issue 17): web pages, sign-in, returns, and the job queue's workers."""
