#ifndef WHET_CNCURSES_SHIM_H
#define WHET_CNCURSES_SHIM_H
// Wide-character API must be switched on before curses.h is included.
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <locale.h>
#include <wchar.h>
#include <ncursesw/curses.h>

// Macros Swift cannot import, wrapped as functions.
static inline int whet_color_pair(int n) { return COLOR_PAIR(n); }
static inline int whet_key_f(int n) { return KEY_F(n); }
static inline int whet_getmaxy(WINDOW *w) { return getmaxy(w); }
static inline int whet_getmaxx(WINDOW *w) { return getmaxx(w); }
static inline WINDOW *whet_stdscr(void) { return stdscr; }
static inline int whet_colors(void) { return COLORS; }
static inline int whet_color_pairs(void) { return COLOR_PAIRS; }
static inline attr_t whet_a_bold(void) { return A_BOLD; }
static inline attr_t whet_a_underline(void) { return A_UNDERLINE; }
static inline attr_t whet_a_reverse(void) { return A_REVERSE; }
static inline attr_t whet_a_dim(void) { return A_DIM; }
static inline attr_t whet_a_italic(void) { return A_ITALIC; }
#endif
