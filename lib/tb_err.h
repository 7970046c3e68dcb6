/* tb_err: the one error enum every fallible function in lib/ returns.
 * TB_OK is 0 so `if (err)` reads naturally. tb_err_str() names each value for logs. */
#ifndef TB_ERR_H
#define TB_ERR_H

enum tb_err {
	TB_OK = 0,
	TB_ERR_NOMEM,     /* allocation failed */
	TB_ERR_INVALID,   /* input does not have the required form */
	TB_ERR_RANGE,     /* a number outside its allowed range */
	TB_ERR_TOO_LARGE, /* input over a configured limit */
	TB_ERR_NOT_FOUND, /* no such key, row or file */
	TB_ERR_IO,        /* a read or write failed (errno is set) */
	TB_ERR_DB,        /* the database answered with an error */
	TB_ERR_DB_DOWN,   /* no usable database connection */
	TB_ERR_CONFLICT,  /* a unique or version constraint failed */
	TB_ERR_TIMEOUT,   /* a client did not send or take data within its deadline */
	TB_ERR__MAX
};

/* Returns a static, human-readable name for err ("invalid", "db down", ...). */
const char *tb_err_str(enum tb_err err);

#endif
