export const placeholderNode = 0;
