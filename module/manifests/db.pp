# @summary
#   The sidecar's MySQL database, user and grant, through puppetlabs-mysql.
#
# With `autoami::manage_db`, declares `mysql::db { autoami::db_name: }` on this node's
# MySQL server (the one `mysql::server` manages, or whatever root's `.my.cnf` reaches):
# the database, the account `db_user@db_grant_host` and `ALL` on the database. No schema
# here: the sidecar migrates forward at start-up, and nothing is ever dropped.
#
# The password is handed to `mysql::db` already hashed with `mysql::password()` (which
# passes a hash through unchanged), so neither Puppet's catalog nor PuppetDB ever holds it
# in clear, whichever puppetlabs-mysql release is installed: 8.x types the password as a
# plain `String`, later releases also take `Sensitive`.
#
# @api private
#
class autoami::db {
  if $autoami::manage_db {
    $password = $autoami::db_password ? {
      Sensitive => $autoami::db_password.unwrap,
      default   => $autoami::db_password,
    }
    $grant_host = $autoami::db_grant_host ? {
      undef   => $autoami::db_socket ? {
        undef   => $autoami::db_host,
        default => 'localhost',
      },
      default => $autoami::db_grant_host,
    }

    # mysql::db includes mysql::client itself, but puppetlabs-mysql 8.x reads
    # $mysql::params::exec_path in its parameter defaults first, which fails under
    # strict_variables unless something (mysql::server, mysql::client) came before.
    include mysql::client

    mysql::db { $autoami::db_name:
      user     => $autoami::db_user,
      password => mysql::password($password),
      host     => $grant_host,
      grant    => ['ALL'],
      charset  => $autoami::db_charset,
      collate  => $autoami::db_collate,
    }
  }
}
