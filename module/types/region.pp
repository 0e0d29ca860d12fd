# @summary
#   An AWS region name, such as `us-east-1`, `eu-west-1` or `us-gov-west-1`.
type Autoami::Region = Pattern[/\A[a-z]{2}(-[a-z]+)+-\d{1,2}\z/]
