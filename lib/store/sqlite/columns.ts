// A message row selected as the domain type (camelCase), for the main connection and the writer.
export const MESSAGE =
  "id, room_id AS roomId, user_id AS userId, text, client_id AS clientId, created_at AS createdAt, seq";
