# frozen_string_literal: true

require 'puppet'
# require_relative: Puppet Server (JRuby) does not put modules' lib/ on $LOAD_PATH.
require_relative '../../puppet_x/autoami/report'

# Hands AutoAMI's bake reports to the sidecar. Every other node returns at once, and
# nothing here may ever fail a report submission on the master.
Puppet::Reports.register_report(:autoami) do
  desc 'Sends the run summary of AutoAMI bake instances (certnames ending in .autoami) to the autoami sidecar, spooling it when the sidecar is down.'

  def process
    return unless PuppetX::Autoami::Report.tracked?(host)

    PuppetX::Autoami::Report.deliver(PuppetX::Autoami::Report.with_facts(PuppetX::Autoami::Report.summary(self)))
  rescue Exception => e # rubocop:disable Lint/RescueException -- a report processor must never take the master down
    Puppet.err("autoami report processor: #{e.class}: #{e.message}")
  end
end
