"""The one error type of the local cloud: its message is a single line that says what to do."""


class LocalCloudError(RuntimeError):
    pass
