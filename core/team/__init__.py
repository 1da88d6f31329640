"""Staff chat (Team): direct and group chats between staff, presence and unread counts."""
