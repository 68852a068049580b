class EditConflict(Exception):
    """Someone saved a newer version of the record since the editor loaded it."""

    def __init__(self, record_label: str):
        self.record_label = record_label
        super().__init__(
            f"Someone else changed this {record_label} after you opened it. Your changes were not saved: "
            "reload to see the current version, then make your change again."
        )
