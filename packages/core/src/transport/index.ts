// The HTTP transport (undici + p-retry); see issue "Core transport and archives".
export {};
