/**
 * The handlers layer: the extension shape ({@link defineExtension}, {@link handlerFor}, ...),
 * the built-in extensions ({@link BUILTIN_EXTENSIONS}), installing them
 * ({@link installExtensions}, {@link installBuiltins}) and loading extension modules
 * ({@link loadExtensions}, {@link useExtensions}).
 * @module
 */

export * from "./extension.ts";
export * from "./registry.ts";
export * from "./extension_loader.ts";
