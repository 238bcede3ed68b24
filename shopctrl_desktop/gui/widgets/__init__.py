"""Small widgets shared by the editor dialogs: masked secret fields, field messages, the
unsaved-changes question."""
