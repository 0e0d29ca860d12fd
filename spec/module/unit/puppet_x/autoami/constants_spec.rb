# frozen_string_literal: true

require_relative '../../spec_helper'
require 'puppet_x/autoami/constants'

describe 'PuppetX::Autoami constants' do
  it 'speaks a protocol version the hello handshake can carry' do
    expect(PuppetX::Autoami::PROTOCOL).to be_a(Integer)
    expect(PuppetX::Autoami::PROTOCOL).to be_positive
  end

  it 'gives the sidecar seconds, not minutes, before a report is spooled' do
    expect(PuppetX::Autoami::SUBMIT_TIMEOUT).to be_between(1, 10)
  end

  describe 'CERTNAME' do
    ['web-i-0123456789abcdef0.autoami', 'db_main-i-0123abcd.autoami', 'a-i-deadbeef.autoami'].each do |name|
      it "takes #{name}" do
        expect(PuppetX::Autoami::CERTNAME).to match(name)
      end
    end

    [
      'web.example.com',
      'web-i-123.autoami',
      'Web-i-0123456789abcdef0.autoami',
      'web-i-0123456789abcdef0.autoami.example.com',
      'i-0123456789abcdef0.autoami',
      'web-i-0123456789ABCDEF0.autoami',
      "web-i-0123abcd.autoami\nweb",
      "evil\nweb-i-0123abcd.autoami",
      '',
    ].each do |name|
      it "refuses #{name.inspect}" do
        expect(PuppetX::Autoami::CERTNAME).not_to match(name)
      end
    end
  end
end
