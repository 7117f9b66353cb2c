// Streaming tar pack and safe extraction; see issue "Core transport and archives".
export {};
